// The npm ws echo server of the WebSocket benchmark (bench/ws/run.sh): no
// compression (ws's default for servers), prints "port N".
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2] || 0);
const server = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false,
                                     maxPayload: 64 * 1024 * 1024 });
server.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
server.on('listening', () => console.log(`port ${server.address().port}`));
