// A jobkeeper worker with JDBC (pgJDBC, Debian's libpostgresql-jdbc-java), plain JDK 17.
//
// The same loop as examples/python/psycopg_worker.py: LISTEN jobkeeper_jobs on a connection of
// its own wakes it when work becomes pending, and polling every --poll seconds is the fallback
// (a notification can be missed, and through PgBouncer in transaction mode there is none: run
// it with --no-listen there). It claims jobs, extends each lease on a timer from a thread and a
// connection of their own, reports progress, and completes the job or fails it with the error
// (jobkeeper retries it with backoff until max_attempts). Every call is one statement that
// leaves no session state, so the main connection may go through a pooler, if the driver sends
// no named prepared statements: prepareThreshold=0 in the URL (--pooler adds it, and
// assumeMinServerVersion=9.0, so that the driver runs no SET either).
//
// Build: javac -cp /usr/share/java/postgresql.jar -d classes Worker.java Submitter.java
// Run:   java -cp classes:/usr/share/java/postgresql.jar Worker \
//          --dsn 'jdbc:postgresql://127.0.0.1:5432/app?user=worker' --worker w1 [--queue q]...
//          [--batch n] [--lease s] [--poll s] [--idle-exit s] [--no-listen] [--pooler]

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.postgresql.PGConnection;

public final class Worker {
  static final String CLAIM = "SELECT id, file_name, file_path, attempts, max_attempts"
      + " FROM jobkeeper.claim_jobs(?, ?, ?, make_interval(secs => ?))";

  /** One claimed job: the columns the work needs. */
  record Job(UUID id, String fileName, String filePath, int attempts) {}

  /** Reports a job's progress (a statement on the worker's connection). */
  interface Progress {
    void report(int percent) throws SQLException;
  }

  /** The application's work on one file; here: read it, "transcribe" it. */
  static long process(Job job, Progress progress) throws Exception {
    byte[] data = Files.readAllBytes(Path.of(job.filePath()));
    String text = new String(data, StandardCharsets.ISO_8859_1);
    if (text.contains("BROKEN")) {
      throw new IllegalStateException("cannot decode " + job.fileName() + ": not an audio file");
    }
    if (text.contains("LONG")) {  // a long recording: longer than the lease, which the heartbeat extends
      Thread.sleep(4000);
    }
    for (int percent : new int[] {25, 50, 75}) progress.report(percent);
    return data.length;
  }

  /**
   * Every lease/3 seconds extends the leases of the jobs the worker holds, on a connection of
   * its own (the main one is busy with the work); a job whose lease it no longer holds is
   * dropped from the set.
   */
  static final class Heartbeat extends Thread {
    final Set<UUID> held = ConcurrentHashMap.newKeySet();
    final CountDownLatch stopped = new CountDownLatch(1);
    private final String url;
    private final String worker;
    private final double lease;

    Heartbeat(String url, String worker, double lease) {
      super("heartbeat");
      setDaemon(true);
      this.url = url;
      this.worker = worker;
      this.lease = lease;
    }

    @Override
    public void run() {
      long periodMs = Math.max(1, (long) (lease * 1000 / 3));
      Connection conn = null;
      try {
        while (!stopped.await(periodMs, TimeUnit.MILLISECONDS)) {
          try {
            if (conn == null || conn.isClosed()) conn = DriverManager.getConnection(url);
            beat(conn);
          } catch (SQLException e) {
            // Reported, and the connection made again on the next beat: a beat missed is not
            // yet a lease lost.
            System.err.println("heartbeat: " + e.getMessage());
            closeQuietly(conn);
            conn = null;
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        closeQuietly(conn);
      }
    }

    private void beat(Connection conn) throws SQLException {
      try (PreparedStatement ps = conn.prepareStatement(
          "SELECT jobkeeper.heartbeat(?, ?, make_interval(secs => ?))")) {
        for (UUID id : held.toArray(new UUID[0])) {
          ps.setObject(1, id);
          ps.setString(2, worker);
          ps.setDouble(3, lease);
          try (ResultSet rs = ps.executeQuery()) {
            if (rs.next() && !rs.getBoolean(1)) {
              held.remove(id);  // the lease expired and someone else has the job
            }
          }
        }
      }
    }
  }

  static void closeQuietly(AutoCloseable c) {
    if (c == null) return;
    try {
      c.close();
    } catch (Exception e) {
      // closing a broken connection: nothing more to do
    }
  }

  /**
   * Returns a JDBC URL for a transaction pooler. prepareThreshold=0: pgJDBC then sends every
   * statement unnamed, never a server-side prepared statement ("S_1") that the pooler would
   * leave behind on one server connection and look for on another. assumeMinServerVersion=9.0:
   * pgJDBC then sends extra_float_digits and application_name in the startup packet instead
   * of SET statements after connecting, which would leave extra_float_digits changed on
   * whichever server connection ran them.
   */
  static String pooled(String url) {
    if (!url.contains("prepareThreshold=")) url = withParameter(url, "prepareThreshold=0");
    if (!url.contains("assumeMinServerVersion=")) {
      url = withParameter(url, "assumeMinServerVersion=9.0");
    }
    return url;
  }

  static String withParameter(String url, String parameter) {
    return url + (url.contains("?") ? "&" : "?") + parameter;
  }

  static void usage(String error) {
    System.err.println("worker: " + error);
    System.err.println("usage: Worker --dsn JDBC-URL --worker NAME [--queue Q]... [--batch N]"
        + " [--lease S] [--poll S] [--idle-exit S] [--no-listen] [--pooler]");
    System.exit(2);
  }

  public static void main(String[] args) throws Exception {
    String url = null;
    String worker = null;
    List<String> queues = new ArrayList<>();
    int batch = 1;
    double lease = 30, poll = 2, idleExit = 0;
    boolean listen = true, pooler = false;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      boolean hasValue = i + 1 < args.length;
      switch (a) {
        case "--no-listen" -> listen = false;
        case "--pooler" -> pooler = true;
        case "--dsn", "--worker", "--queue", "--batch", "--lease", "--poll", "--idle-exit" -> {
          if (!hasValue) usage(a + " needs a value");
          String v = args[++i];
          switch (a) {
            case "--dsn" -> url = v;
            case "--worker" -> worker = v;
            case "--queue" -> queues.add(v);
            case "--batch" -> batch = Integer.parseInt(v);
            case "--lease" -> lease = Double.parseDouble(v);
            case "--poll" -> poll = Double.parseDouble(v);
            default -> idleExit = Double.parseDouble(v);
          }
        }
        default -> usage("unknown argument " + a);
      }
    }
    if (url == null || worker == null) usage("--dsn and --worker are required");
    if (pooler) url = pooled(url);
    try {
      run(url, worker, queues, batch, lease, poll, idleExit, listen);
    } catch (SQLException e) {
      System.err.println("worker: " + e.getMessage());
      System.exit(1);
    }
  }

  static void run(String url, String worker, List<String> queues, int batch, double lease,
      double poll, double idleExit, boolean listen) throws Exception {
    // getNotifications(0) would wait for ever: the poll is at least a millisecond.
    int pollMs = (int) Math.max(1, poll * 1000);
    Heartbeat heartbeat = new Heartbeat(url, worker, lease);
    // LISTEN needs a session of its own: behind a transaction pooler, --no-listen.
    Connection listener = null;
    try (Connection conn = DriverManager.getConnection(url);
        PreparedStatement claim = conn.prepareStatement(CLAIM);
        PreparedStatement progress = conn.prepareStatement(
            "SELECT jobkeeper.set_job_progress(?, ?)");
        PreparedStatement complete = conn.prepareStatement(
            "SELECT jobkeeper.complete_job(?, ?)");
        PreparedStatement fail = conn.prepareStatement("SELECT jobkeeper.fail_job(?, ?, ?)")) {
      PGConnection notifications = null;
      if (listen) {
        listener = DriverManager.getConnection(url);
        try (Statement s = listener.createStatement()) {
          s.execute("LISTEN jobkeeper_jobs");
        }
        notifications = listener.unwrap(PGConnection.class);
      }
      heartbeat.start();

      claim.setString(1, worker);
      claim.setInt(2, batch);
      if (queues.isEmpty()) {
        claim.setNull(3, Types.ARRAY);  // all queues
      } else {
        claim.setArray(3, conn.createArrayOf("text", queues.toArray()));
      }
      claim.setDouble(4, lease);
      long idleSince = System.nanoTime();
      while (true) {
        List<Job> jobs = new ArrayList<>();
        try (ResultSet rs = claim.executeQuery()) {
          while (rs.next()) {
            jobs.add(new Job((UUID) rs.getObject("id"), rs.getString("file_name"),
                rs.getString("file_path"), rs.getInt("attempts")));
          }
        }
        if (jobs.isEmpty()) {
          if (idleExit > 0 && (System.nanoTime() - idleSince) / 1e9 > idleExit) break;
          if (notifications == null) {
            Thread.sleep(pollMs);
          } else {
            // A notification, or the poll: either way, claim again. Notifications that came
            // while the worker was busy are read here at once.
            notifications.getNotifications(pollMs);
          }
          continue;
        }
        for (Job job : jobs) heartbeat.held.add(job.id());
        for (Job job : jobs) {
          try {
            process(job, percent -> {
              progress.setObject(1, job.id());
              progress.setInt(2, percent);
              progress.execute();
            });
            complete.setObject(1, job.id());
            complete.setString(2, worker);
            complete.execute();
            System.out.println("done " + job.id());
          } catch (Exception e) {  // the job's error, recorded; jobkeeper decides on a retry
            String error = e.getMessage() != null ? e.getMessage() : e.toString();
            fail.setObject(1, job.id());
            fail.setString(2, error);
            fail.setString(3, worker);
            fail.execute();
            System.out.println("failed " + job.id() + " " + job.attempts());
          } finally {
            heartbeat.held.remove(job.id());
          }
        }
        idleSince = System.nanoTime();
      }
    } finally {
      heartbeat.stopped.countDown();
      if (heartbeat.isAlive()) heartbeat.join();
      closeQuietly(listener);
    }
  }
}
