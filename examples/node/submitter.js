#!/usr/bin/env node
// Submits files to jobkeeper with node-postgres: each file is hashed with Node's own SHA-256
// (crypto) and submitted with its hash, so a known file is not processed twice.
// Usage: node submitter.js <connection string> [--queue q] [--max-attempts n] file...
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { Client } = require('pg');

function sha256Of(file) {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    fs.createReadStream(file).on('data', (d) => hash.update(d)).on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

async function main() {
  const args = process.argv.slice(2);
  const dsn = args.shift();
  let queue = 'default';
  let maxAttempts = 3;
  const files = [];
  while (args.length) {
    const a = args.shift();
    if (a === '--queue') queue = args.shift();
    else if (a === '--max-attempts') maxAttempts = Number(args.shift());
    else files.push(a);
  }
  const client = new Client({ connectionString: dsn });
  await client.connect();
  try {
    for (const file of files) {
      const { rows } = await client.query(
        'SELECT id, status, deduplicated FROM jobkeeper.submit_job(file_name => $1, ' +
        'file_path => $2, file_hash => $3, queue => $4, max_attempts => $5)',
        [path.basename(file), path.resolve(file), await sha256Of(file), queue, maxAttempts]);
      const r = rows[0];
      console.log(`submitted ${r.id} ${r.status} ${r.deduplicated ? 'dedup' : 'new'}`);
    }
  } finally {
    await client.end();
  }
}

main().catch((e) => { console.error(e.message); process.exit(1); });
