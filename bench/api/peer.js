// bench/api: the peer of the GET benchmark, a trivial HTTPS server: one
// thread, one event loop, OpenSSL, keep-alive, as xeno-controld is.  It
// answers every request with the same file (run.sh gives it the body of
// the GET it is compared with, and controld's own certificate and key).
//
//   node bench/api/peer.js CERT KEY BODY
//
// It listens on a free port of 127.0.0.1 and prints "listening PORT".
//
// Node's https, when `node` is installed (it is not one of our
// dependencies; run.sh reports the figure alone without it).  Debian's
// `openssl s_server -WWW` is no peer: it serves one connection at a time
// and closes each after one response without a Content-Length, which wrk
// counts as a read error, so it measures nothing wrk can report.
'use strict';
const https = require('https');
const fs = require('fs');
const [cert, key, file] = process.argv.slice(2);
const body = fs.readFileSync(file);

https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) },
    (req, res) => {
	res.writeHead(200, { 'Content-Type': 'application/json',
	    'Content-Length': body.length });
	res.end(body);
    }).listen(0, '127.0.0.1', function () {
	process.stdout.write(`listening ${this.address().port}\n`);
});
