#!/usr/bin/env node
// A jobkeeper worker with node-postgres: LISTEN jobkeeper_jobs as a wake-up with polling as the
// fallback (--no-listen behind PgBouncer: LISTEN needs a session), claim, a heartbeat on a timer
// from a connection of its own for every job it holds, progress, complete, or fail with the
// error (jobkeeper retries with backoff until max_attempts). node-postgres sends unnamed
// statements unless a query is given a name, so it works through a transaction pooler as is.
// Usage: node worker.js <connection string> <worker name> [--queue q] [--batch n] [--lease s]
//        [--poll s] [--idle-exit s] [--no-listen]
'use strict';
const fs = require('fs');
const { Client } = require('pg');

function parse(argv) {
  const o = { dsn: argv[0], worker: argv[1], queues: null, batch: 1, lease: 30, poll: 2,
              idleExit: 0, listen: true };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--queue') (o.queues = o.queues || []).push(argv[++i]);
    else if (a === '--batch') o.batch = Number(argv[++i]);
    else if (a === '--lease') o.lease = Number(argv[++i]);
    else if (a === '--poll') o.poll = Number(argv[++i]);
    else if (a === '--idle-exit') o.idleExit = Number(argv[++i]);
    else if (a === '--no-listen') o.listen = false;
  }
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The application's work on one file; here: read it, "transcribe" it.
async function processJob(job, reportProgress) {
  const data = fs.readFileSync(job.file_path);
  if (data.includes('BROKEN')) throw new Error(`cannot decode ${job.file_name}: not an audio file`);
  if (data.includes('LONG')) await sleep(4000);  // longer than the lease: the heartbeat keeps it
  for (const p of [25, 50, 75]) await reportProgress(p);
}

async function main() {
  const o = parse(process.argv.slice(2));
  const conn = new Client({ connectionString: o.dsn });
  await conn.connect();
  const beat = new Client({ connectionString: o.dsn });
  await beat.connect();
  const held = new Set();
  let beating = Promise.resolve();
  const timer = setInterval(() => {
    beating = beating.then(async () => {
      for (const id of [...held]) {
        const { rows } = await beat.query(
          'SELECT jobkeeper.heartbeat($1, $2, make_interval(secs => $3)) AS held', [id, o.worker, o.lease]);
        if (!rows[0].held) held.delete(id);  // the lease expired and someone else has the job
      }
    }).catch((e) => console.error(`heartbeat: ${e.message}`));
  }, (o.lease / 3) * 1000);

  let wake = null;
  let listener = null;
  if (o.listen) {
    listener = new Client({ connectionString: o.dsn });
    await listener.connect();
    listener.on('notification', () => { if (wake) wake(); });
    await listener.query('LISTEN jobkeeper_jobs');
  }

  let idleSince = Date.now();
  for (;;) {
    const { rows: jobs } = await conn.query(
      'SELECT id, file_name, file_path, attempts FROM jobkeeper.claim_jobs($1, $2, $3, make_interval(secs => $4))',
      [o.worker, o.batch, o.queues, o.lease]);
    if (jobs.length === 0) {
      if (o.idleExit && Date.now() - idleSince > o.idleExit * 1000) break;
      await new Promise((resolve) => {  // a notification, or the poll
        const t = setTimeout(resolve, o.poll * 1000);
        wake = () => { clearTimeout(t); resolve(); };
      });
      wake = null;
      continue;
    }
    for (const job of jobs) held.add(job.id);
    for (const job of jobs) {
      try {
        await processJob(job, (p) => conn.query('SELECT jobkeeper.set_job_progress($1, $2)', [job.id, p]));
        await conn.query('SELECT jobkeeper.complete_job($1, $2)', [job.id, o.worker]);
        console.log(`done ${job.id}`);
      } catch (e) {
        await conn.query('SELECT jobkeeper.fail_job($1, $2, $3)', [job.id, e.message, o.worker]);
        console.log(`failed ${job.id} ${job.attempts}`);
      } finally {
        held.delete(job.id);
      }
    }
    idleSince = Date.now();
  }
  clearInterval(timer);
  await beating;
  await conn.end();
  await beat.end();
  if (listener) await listener.end();
}

main().catch((e) => { console.error(e.message); process.exit(1); });
