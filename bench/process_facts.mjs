// Two facts bench/run.sh reports about a Switchboard process, measured from outside:
//   node bench/process_facts.mjs startup BIN            ms from spawn to the time stamp of the "ready" log
//                                                       line (median of 5; 1 ms resolution)
//   node bench/process_facts.mjs idle PID PORT N PATH SIGNATURE BODY
//                                                       RSS growth per idle keep-alive connection:
//                                                       N connections, each answered one signed POST
//                                                       and then left open, against the RSS before
// The startup run uses the environment it is given (bench/run.sh sets the same one as the server).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";

const [mode, ...args] = process.argv.slice(2);

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m[1]);
}

function startupOnce(bin) {
  return new Promise((resolve, reject) => {
    // The log is written in batches (up to 50 ms late): the time is the ready line's own stamp.
    const t0 = Date.now();
    const child = spawn(bin, [], { stdio: ["ignore", "pipe", "pipe"] });
    let seen = "";
    const look = (chunk) => {
      seen += chunk;
      const line = /\{"time":"([^"]+)","level":"info","msg":"ready"/.exec(seen);
      if (line) {
        const ms = Date.parse(line[1]) - t0;
        child.kill("SIGTERM");
        child.on("exit", () => resolve(ms));
      }
    };
    child.stdout.on("data", look);
    child.stderr.on("data", look);
    child.on("exit", (code) => {
      if (!seen.includes('"msg":"ready"')) {
        reject(new Error(`exited ${code} before ready: ${seen}`));
      }
    });
  });
}

async function startup(bin) {
  const runs = [];
  for (let i = 0; i < 5; i++) {
    runs.push(await startupOnce(bin));
  }
  runs.sort((a, b) => a - b);
  console.log(runs[2].toFixed(1));
}

function openOne(port, path, signature, body) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let got = "";
    s.on("error", reject);
    s.on("connect", () => {
      s.write(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
          `X-Twilio-Signature: ${signature}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
    s.on("data", (d) => {
      got += d;
      if (/^HTTP\/1\.1 200/.test(got) && got.includes("</Response>")) {
        resolve(s);
      } else if (/^HTTP\/1\.1 [^2]/.test(got)) {
        reject(new Error(`answered ${got.split("\r\n")[0]}`));
      }
    });
  });
}

async function idle(pid, port, n, path, signature, body) {
  const before = rssKiB(pid);
  const sockets = [];
  for (let i = 0; i < n; i++) {
    sockets.push(await openOne(Number(port), path, signature, body));
  }
  await new Promise((r) => setTimeout(r, 500));
  const after = rssKiB(pid);
  for (const s of sockets) {
    s.destroy();
  }
  console.log((((after - before) * 1024) / n).toFixed(0));
}

if (mode === "startup") {
  await startup(args[0]);
} else if (mode === "idle") {
  await idle(args[0], args[1], Number(args[2]), args[3], args[4], args[5]);
} else {
  console.error("usage: process_facts.mjs startup BIN | idle PID PORT N PATH SIGNATURE BODY");
  process.exit(2);
}
