// Submits files to jobkeeper with JDBC: each file is hashed with Java's own SHA-256
// (java.security.MessageDigest) and submitted with its hash, so a file already known is not
// processed twice (submit_job returns the existing job, deduplicated = true).
//
// Run: java -cp classes:/usr/share/java/postgresql.jar Submitter \
//        --dsn 'jdbc:postgresql://127.0.0.1:5432/app?user=app' [--queue q] [--max-attempts n]
//        [--pooler] file...

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

public final class Submitter {
  /** Returns the file's SHA-256 as 64 lowercase hex characters, read in 1 MB pieces. */
  static String sha256Of(Path path) throws IOException, NoSuchAlgorithmException {
    MessageDigest digest = MessageDigest.getInstance("SHA-256");
    byte[] buffer = new byte[1 << 20];
    try (InputStream in = Files.newInputStream(path)) {
      for (int n; (n = in.read(buffer)) > 0; ) digest.update(buffer, 0, n);
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  /**
   * Returns a JDBC URL for a transaction pooler: no named server-side prepared statements
   * (prepareThreshold=0) and no SET after connecting (assumeMinServerVersion=9.0); see
   * Worker.pooled.
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
    System.err.println("submitter: " + error);
    System.err.println("usage: Submitter --dsn JDBC-URL [--queue Q] [--max-attempts N]"
        + " [--pooler] file...");
    System.exit(2);
  }

  public static void main(String[] args) throws Exception {
    String url = null;
    String queue = "default";
    int maxAttempts = 3;
    boolean pooler = false;
    List<Path> files = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--pooler")) {
        pooler = true;
      } else if (a.equals("--dsn") || a.equals("--queue") || a.equals("--max-attempts")) {
        if (i + 1 >= args.length) usage(a + " needs a value");
        String v = args[++i];
        if (a.equals("--dsn")) url = v;
        else if (a.equals("--queue")) queue = v;
        else maxAttempts = Integer.parseInt(v);
      } else if (a.startsWith("--")) {
        usage("unknown argument " + a);
      } else {
        files.add(Path.of(a));
      }
    }
    if (url == null || files.isEmpty()) usage("--dsn and at least one file are required");
    if (pooler) url = pooled(url);

    try (Connection conn = DriverManager.getConnection(url);
        PreparedStatement submit = conn.prepareStatement(
            "SELECT id, status, deduplicated FROM jobkeeper.submit_job("
                + " file_name => ?, file_path => ?, file_hash => ?, queue => ?,"
                + " max_attempts => ?)")) {
      for (Path file : files) {
        Path absolute = file.toAbsolutePath().normalize();
        submit.setString(1, absolute.getFileName().toString());
        submit.setString(2, absolute.toString());
        submit.setString(3, sha256Of(absolute));
        submit.setString(4, queue);
        submit.setInt(5, maxAttempts);
        try (ResultSet rs = submit.executeQuery()) {
          rs.next();
          System.out.println("submitted " + rs.getObject("id") + " " + rs.getString("status")
              + " " + (rs.getBoolean("deduplicated") ? "dedup" : "new"));
        }
      }
    } catch (SQLException e) {
      System.err.println("submitter: " + e.getMessage());
      System.exit(1);
    }
  }
}
