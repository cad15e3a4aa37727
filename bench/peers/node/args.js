// Command line of the node peers: [--address A] [--port P] (defaults 127.0.0.1:8080).
'use strict';
const args = { address: '127.0.0.1', port: 8080 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const value = argv[i + 1];
  if (argv[i] === '--address' && value) {
    args.address = value;
  } else if (argv[i] === '--port' && /^\d+$/.test(value || '')) {
    args.port = Number(value);
  } else {
    console.error('usage: node <app>.js [--address A] [--port P]');
    process.exit(2);
  }
}
module.exports = args;
