// The npm ws client against covet's echo server. Usage: node node_client.mjs ws://127.0.0.1:PORT
import WebSocket from 'ws';

const base = process.argv[2];
let passed = 0;
let failed = 0;
const check = (ok, what) => { if (ok) passed++; else { failed++; console.error(`FAILED: ${what}`); } };

function open(path, deflate) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base + path, { perMessageDeflate: deflate, maxPayload: 64 * 1024 * 1024 });
    const inbox = [];
    const waiters = [];
    ws.on('message', (data, isBinary) => {
      const m = { data, isBinary };
      if (waiters.length) waiters.shift()(m); else inbox.push(m);
    });
    ws.next = () => new Promise((res) => { if (inbox.length) res(inbox.shift()); else waiters.push(res); });
    ws.closed = new Promise((res) => ws.on('close', (code, reason) => res({ code, reason: reason.toString() })));
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

async function run(path, deflate) {
  const ws = await open(path, deflate);
  check((ws.extensions.includes('permessage-deflate')) === deflate, `${path} deflate negotiated = ${deflate}`);
  for (const size of [0, 1, 125, 126, 65535, 65536, 1 << 20, 8 << 20]) {
    const text = 'x'.repeat(size).split('').map((_, i) => String.fromCharCode(97 + (i * 7) % 26)).join('');
    ws.send(text);
    const m = await ws.next();
    check(!m.isBinary && m.data.toString() === text, `${path} text echo ${size}`);
    const bin = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bin[i] = (i * 13) & 0xff;
    ws.send(bin, { binary: true });
    const b = await ws.next();
    check(b.isBinary && Buffer.compare(b.data, bin) === 0, `${path} binary echo ${size}`);
  }
  // A fragmented message: ws sends each send() with fin:false as one frame.
  ws.send('frag', { fin: false });
  ws.send('mented', { fin: false });
  ws.send(' end', { fin: true });
  const f = await ws.next();
  check(f.data.toString() === 'fragmented end', `${path} fragmented message`);
  ws.close(4000, 'node bye');
  const closed = await ws.closed;
  check(closed.code === 4000, `${path} close code echoed (${closed.code})`);
}

async function invalid_utf8() {
  const ws = await open('/echo-plain', false);
  ws.send(Buffer.from([0x68, 0xc0, 0xaf]), { binary: false });  // a text frame that is not UTF-8
  const closed = await ws.closed;
  check(closed.code === 1007, `invalid UTF-8 closes with 1007 (got ${closed.code})`);
}

// covet streams a message in four fragments, compressed as one deflate stream.
function streamedText() {
  let text = '';
  for (let part = 0; part < 4; part++) text += `part ${part} of a streamed message; `.repeat(2000);
  return text;
}

async function streamed(deflate) {
  const ws = await open('/stream', deflate);
  const m = await ws.next();
  const expected = streamedText();
  check(!m.isBinary && m.data.toString() === expected, `/stream deflate=${deflate}: streamed message whole`);
  if (deflate) {
    // Compressed on the wire: far fewer bytes arrived than the text has.
    const wire = ws._socket.bytesRead;
    check(wire < expected.length / 10, `/stream: compressed fragments (${wire} bytes for ${expected.length})`);
  }
  ws.close(1000);
  await ws.closed;
}

try {
  await streamed(true);
  await streamed(false);
  await run('/echo-plain', false);
  await run('/echo', true);
  await invalid_utf8();
} catch (error) {
  failed++;
  console.error(`FAILED: ${error.message}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
