// An npm ws echo server (permessage-deflate on) for covet's client; prints "port N".
import { WebSocketServer } from 'ws';

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true,
                                     maxPayload: 64 * 1024 * 1024 });
server.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
server.on('listening', () => console.log(`port ${server.address().port}`));
