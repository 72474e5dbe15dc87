// Fail-stop after a failed fsync of the WAL: the batch is visible in the WAL but not durable,
// and after a writeback error the kernel may report the next fsync as fine. The process stops
// (nothing of the batch acknowledged); the next start recovers the store from the disk. The
// failure is injected with an LD_PRELOAD shim whose fsync fails with EIO while a flag file exists.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { signedPost, spawnServer, STORE, stopServer, TOKEN, waitFor } from './harness.mjs';

const SHIM = `
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
int fsync(int fd) {
    static int (*real)(int) = 0;
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    const char* flag = getenv("FAIL_FSYNC_FLAG");
    if (flag && access(flag, F_OK) == 0) { errno = EIO; return -1; }
    return real(fd);
}
`;

const haveCc = spawnSync('cc', ['--version']).status === 0;

test('a failed WAL fsync stops the process; nothing of the batch is acknowledged; a restart recovers',
  { skip: (STORE === 'redis' && 'SQLite only') || (!haveCc && 'no C compiler for the shim') }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'switchboard-fsync-'));
    try {
      writeFileSync(path.join(dir, 'shim.c'), SHIM);
      execFileSync('cc', ['-shared', '-fPIC', '-O1', '-o', path.join(dir, 'shim.so'), path.join(dir, 'shim.c'), '-ldl']);
      const flag = path.join(dir, 'fail');
      const env = {
        SWITCHBOARD_LISTEN: '127.0.0.1:0',
        SWITCHBOARD_ADMIN_LISTEN: '127.0.0.1:0',
        SWITCHBOARD_DATA_DIR: path.join(dir, 'data'),
        TWILIO_AUTH_TOKEN: TOKEN,
      };
      const server = await spawnServer({
        ...env, LD_PRELOAD: path.join(dir, 'shim.so'), FAIL_FSYNC_FLAG: flag,
        // The sanitizer runtimes want to be first in the library list; the shim only wraps fsync.
        ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ?? ''}:verify_asan_link_order=0`,
      });
      server.dataDir = path.join(dir, 'unused');
      const ok = await signedPost(server, '/api/voice/status',
        { CallSid: `CA${'1'.repeat(32)}`, CallStatus: 'ringing', SequenceNumber: '1' });
      assert.equal(ok.status, 204);
      writeFileSync(flag, '');
      const answered = await signedPost(server, '/api/voice/status',
        { CallSid: `CA${'2'.repeat(32)}`, CallStatus: 'ringing', SequenceNumber: '1' }).then((r) => r.status, () => 0);
      assert.notEqual(answered, 204, 'not acknowledged');
      const exit = await server.exited;
      assert.equal(exit.code, 75);
      assert.ok(server.logs.some((l) => l.level === 'error' && /event store flush failed: stopping/.test(l.msg)));
      assert.ok(existsSync(path.join(dir, 'data', 'switchboard.db')));
      // The next start recovers what is on disk and serves again.
      const again = await spawnServer(env);
      again.dataDir = path.join(dir, 'unused');
      const res = await signedPost(again, '/api/voice/status',
        { CallSid: `CA${'1'.repeat(32)}`, CallStatus: 'ringing', SequenceNumber: '1' });
      assert.equal(res.status, 204, 'the first event is still there (a duplicate now)');
      await waitFor(() => again.logs.some((l) => l.msg === 'request' && l.status === 204), 2000, 'the request line');
      await stopServer(again);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
