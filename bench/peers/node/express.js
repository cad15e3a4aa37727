// express peer of tools/covet-bench: one Node.js process (no cluster).
//   node express.js [--address A] [--port P]
// GET /plaintext -> "Hello, World!" (text/plain); GET /json -> res.json(), i.e.
// JSON.stringify on every request. Node adds the Date header. Usual production settings:
// no X-Powered-By, no ETag on dynamic responses.
'use strict';
const { address, port } = require('./args');
const express = require('express');

const app = express();
app.disable('x-powered-by');
app.disable('etag');

app.use((req, res, next) => {
  res.set('Server', 'express');
  next();
});

app.get('/plaintext', (req, res) => {
  res.type('text/plain').send('Hello, World!');
});

app.get('/json', (req, res) => {
  res.json({ message: 'Hello, World!' });
});

app.listen(port, address, () => {
  console.log(`express ${require('express/package.json').version} listening on ${address}:${port}`);
});
