#!/usr/bin/env node
// Starts @vercel/cosmosdb-server (a Cosmos DB NoSQL API server in Node, pinned in package.json)
// for tests and local runs, with two of its problems worked around from the outside:
//
// 1. A point read of a missing item answers 500: its read handler dereferences the missing
//    document before it checks it. Here the handler module is wrapped before the server's
//    routes capture it, so a missing item answers 404 NotFound, as Cosmos DB does.
// 2. Its command line closes the connection after every response (50-100 ms a request).
//    The library takes a `keepAlive` option the command line never passes; this passes it.
//
// It also serves TLS with a certificate the caller brings (--cert/--key: the one the
// package ships expired in 2021 and names no host), so the Python SDK verifies it against a
// CA bundle instead of turning verification off. With --faults it answers chosen requests
// with a chosen status first (429 with x-ms-retry-after-ms, 449, 503...), controlled over
// /__faults, so a client's throttling and retry handling can be tested.
//
// Usage: node scripts/cosmosdb_server.js [--host 127.0.0.1] [--port 0] [--cert F --key F]
//                                        [--no-ssl] [--faults]
// Prints one line `{"ready": true, "port": N, "scheme": "https"}` when it listens.
"use strict";

const fs = require("fs");
const path = require("path");

const PACKAGE = "@vercel/cosmosdb-server";

function parseArgs(argv) {
  const args = { host: "127.0.0.1", port: 0, ssl: true, faults: false };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = () => {
      i += 1;
      if (i >= argv.length) throw new Error(`${flag} needs a value`);
      return argv[i];
    };
    if (flag === "--host") args.host = value();
    else if (flag === "--port") args.port = Number.parseInt(value(), 10);
    else if (flag === "--cert") args.cert = value();
    else if (flag === "--key") args.key = value();
    else if (flag === "--no-ssl") args.ssl = false;
    else if (flag === "--faults") args.faults = true;
    else throw new Error(`unknown option ${flag}`);
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) {
    throw new Error("--port must be 0..65535");
  }
  if (args.ssl && !(args.cert && args.key)) {
    throw new Error("--cert and --key are required for TLS (or pass --no-ssl)");
  }
  return args;
}

function notFound(res) {
  res.statusCode = 404;
  return {
    code: "NotFound",
    message: "Entity with the specified id does not exist in the system.",
  };
}

// Workaround 1: wrap the point-read handler before `routes` is loaded (it keeps a reference).
function patchPointRead() {
  const handler = require(`${PACKAGE}/lib/handler/read-document`);
  const partition = require(`${PACKAGE}/lib/utils/get-partition-from-header`);
  const original = handler.default;
  handler.default = (account, req, res, params) => {
    const collection = account.database(params.dbId).collection(params.collId);
    const header = partition.default(req);
    if (collection.read() && header) {
      let key;
      try {
        key = partition.parsePartitionKey(header, params.docId);
      } catch (_err) {
        return original(account, req, res, params); // its own error for a bad header
      }
      if (!collection.document(params.docId, key).read()) return notFound(res);
    }
    return original(account, req, res, params);
  };
}

// Fault injection: rules answered in front of the server, each for `count` matching requests.
function faultInjector() {
  const rules = [];
  let injected = 0;

  function readBody(req) {
    return new Promise((resolve, reject) => {
      const chunks = [];
      req.on("data", (chunk) => chunks.push(chunk));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      req.on("error", reject);
    });
  }

  function reply(res, status, body, headers = {}) {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  }

  async function control(req, res) {
    if (req.method === "DELETE") {
      rules.length = 0;
      return reply(res, 200, { cleared: true });
    }
    if (req.method === "GET") return reply(res, 200, { rules, injected });
    if (req.method !== "POST") return reply(res, 405, { message: "GET, POST or DELETE" });
    let rule;
    try {
      rule = JSON.parse(await readBody(req));
      if (typeof rule !== "object" || rule === null) throw new Error("not an object");
      if (!Number.isInteger(rule.status) || rule.status < 400 || rule.status > 599) {
        throw new Error("status must be an integer 400..599");
      }
      new RegExp(rule.path || ""); // eslint-disable-line no-new
    } catch (err) {
      return reply(res, 400, { message: `bad fault rule: ${err.message}` });
    }
    rules.push({
      method: rule.method || null,
      path: rule.path || "",
      status: rule.status,
      count: Number.isInteger(rule.count) ? rule.count : 1,
      retryAfterMs: Number.isInteger(rule.retryAfterMs) ? rule.retryAfterMs : null,
      substatus: Number.isInteger(rule.substatus) ? rule.substatus : null,
      hits: 0,
    });
    return reply(res, 201, { rules });
  }

  function take(req) {
    const pathname = req.url.split("?")[0];
    for (const rule of rules) {
      if (rule.count <= 0) continue;
      if (rule.method && rule.method !== req.method) continue;
      if (!new RegExp(rule.path).test(pathname)) continue;
      rule.count -= 1;
      rule.hits += 1;
      injected += 1;
      return rule;
    }
    return null;
  }

  function answer(res, rule) {
    const headers = { "x-ms-activity-id": require("crypto").randomUUID() };
    if (rule.retryAfterMs !== null) headers["x-ms-retry-after-ms"] = String(rule.retryAfterMs);
    if (rule.substatus !== null) headers["x-ms-substatus"] = String(rule.substatus);
    const code = rule.status === 429 ? "TooManyRequests" : `Injected${rule.status}`;
    reply(res, rule.status, { code, message: `injected fault ${rule.status}` }, headers);
  }

  return { control, take, answer };
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  patchPointRead();
  const server = require(PACKAGE);
  const options = { keepAlive: true }; // workaround 2
  if (args.ssl) {
    options.cert = fs.readFileSync(path.resolve(args.cert));
    options.key = fs.readFileSync(path.resolve(args.key));
  }
  const httpServer = args.ssl ? server.createHttpsServer(options) : server.createHttpServer(options);

  if (args.faults) {
    const faults = faultInjector();
    const [serve] = httpServer.listeners("request");
    httpServer.removeAllListeners("request");
    httpServer.on("request", (req, res) => {
      if (req.url.startsWith("/__faults")) {
        faults.control(req, res).catch((err) => {
          res.statusCode = 500;
          res.end(JSON.stringify({ message: err.message }));
        });
        return;
      }
      const rule = faults.take(req);
      if (rule) {
        req.resume(); // drain the body so the connection can be reused
        req.on("end", () => faults.answer(res, rule));
        return;
      }
      serve(req, res);
    });
  }

  httpServer.listen(args.port, args.host, () => {
    const { port } = httpServer.address();
    process.stdout.write(
      `${JSON.stringify({ ready: true, port, scheme: args.ssl ? "https" : "http" })}\n`,
    );
  });
  const stop = () => {
    httpServer.close(() => process.exit(0));
    httpServer.closeAllConnections(); // idle keep-alive sockets would hold close() open
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

try {
  main();
} catch (err) {
  process.stderr.write(`cosmosdb_server: ${err.message}\n`);
  process.exit(2);
}
