// fastify peer of tools/covet-bench: one Node.js process (no cluster), logging off.
//   node fastify.js [--address A] [--port P]
// GET /plaintext -> "Hello, World!" (text/plain); GET /json -> {"message":"Hello, World!"}
// serialized on every request by fastify's schema-compiled serializer (how fastify apps
// declare responses). Node adds the Date header; Server is set by a hook.
'use strict';
const { address, port } = require('./args');
const fastify = require('fastify')({ logger: false });

fastify.addHook('onSend', (request, reply, payload, done) => {
  reply.header('server', 'fastify');
  done(null, payload);
});

fastify.get('/plaintext', (request, reply) => {
  reply.type('text/plain').send('Hello, World!');
});

const jsonSchema = {
  response: {
    200: { type: 'object', properties: { message: { type: 'string' } } },
  },
};
fastify.get('/json', { schema: jsonSchema }, (request, reply) => {
  reply.send({ message: 'Hello, World!' });
});

fastify.listen({ host: address, port }, (err) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
  console.log(`fastify ${require('fastify/package.json').version} listening on ${address}:${port}`);
});
