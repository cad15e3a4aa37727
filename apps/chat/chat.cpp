#include "chat.hpp"

#include <string>

namespace covet::chat {

namespace {

// One page, no build step: the room and name come from the form.
constexpr std::string_view page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>covet chat</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; }
  #log { border: 1px solid #ccc; height: 20rem; overflow-y: auto; padding: .5rem; white-space: pre-wrap; }
  #log .system { color: #777; }
  form { display: flex; gap: .5rem; margin: .5rem 0; }
  input[type=text] { flex: 1; }
</style>
</head>
<body>
<h1>covet chat</h1>
<form id="join">
  <input type="text" id="room" placeholder="room" value="lobby" aria-label="room">
  <input type="text" id="name" placeholder="your name" aria-label="name">
  <button id="join-button">Join</button>
</form>
<div id="status">not connected</div>
<div id="log" aria-live="polite"></div>
<form id="send">
  <input type="text" id="text" placeholder="message" aria-label="message" disabled>
  <button id="send-button" disabled>Send</button>
</form>
<script>
let socket = null;
const log = document.getElementById('log');
function show(line) {
  const div = document.createElement('div');
  if (line.startsWith('* ')) div.className = 'system';
  div.textContent = line;               // text, never HTML
  log.appendChild(div);
  log.scrollTop = log.scrollHeight;
}
document.getElementById('join').addEventListener('submit', (e) => {
  e.preventDefault();
  if (socket) socket.close(1000, 'switching rooms');
  const room = document.getElementById('room').value || 'lobby';
  const name = document.getElementById('name').value || 'anonymous';
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  socket = new WebSocket(`${scheme}://${location.host}/chat/${encodeURIComponent(room)}?name=${encodeURIComponent(name)}`);
  const status = document.getElementById('status');
  socket.onopen = () => {
    status.textContent = `connected to ${room} as ${name}`;
    document.getElementById('text').disabled = false;
    document.getElementById('send-button').disabled = false;
  };
  socket.onmessage = (event) => show(event.data);
  socket.onclose = (event) => {
    status.textContent = `disconnected (${event.code})`;
    document.getElementById('text').disabled = true;
    document.getElementById('send-button').disabled = true;
  };
});
document.getElementById('send').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = document.getElementById('text');
  if (socket && socket.readyState === WebSocket.OPEN && input.value) {
    socket.send(input.value);
    input.value = '';
  }
});
</script>
</body>
</html>
)html";

std::string presence_line(std::string_view name, std::string_view what, std::size_t online)
{
    return "* " + std::string(name) + " " + std::string(what) + " (" + std::to_string(online) + " online)";
}

task<void> run_member(ws::connection conn, std::string room, std::string name, std::shared_ptr<ws::hub> rooms)
{
    auto member = rooms->join(room, conn);
    rooms->publish(room, ws::message_type::text, presence_line(name, "joined", rooms->presence(room)));
    for (;;) {
        auto msg = co_await conn.read();
        if (!msg) {
            break;
        }
        if (!msg->is_text()) {
            continue;
        }
        rooms->publish(room, ws::message_type::text, name + ": " + msg->data);
    }
    member.leave();
    rooms->publish(room, ws::message_type::text, presence_line(name, "left", rooms->presence(room)));
}

task<void> echo(ws::connection conn)
{
    for (;;) {
        auto msg = co_await conn.read();
        if (!msg) {
            break;
        }
        auto sent = co_await conn.send(msg->type, msg->data);
        if (!sent) {
            break;
        }
    }
}

}  // namespace

void add_routes(web::app& app, std::shared_ptr<ws::hub> rooms)
{
    app.get("/", []() { return http::response::static_html(page); });

    app.get("/rooms/{room}",
            [rooms](web::path<std::string> room) { return std::to_string(rooms->presence(*room)); });

    ws::accept_options chat_options;
    chat_options.connection.max_message_size = 64 * 1024;
    chat_options.connection.send_queue_limit = 1024 * 1024;
    chat_options.connection.when_full = ws::full_queue_policy::close;  // a stuck reader is cut off
    app.ws(
        "/chat/{room}",
        [rooms](ws::connection conn, web::path<std::string> room, web::query<std::string, "name"> name) {
            std::string who = name->empty() ? std::string("anonymous") : *name;
            return run_member(std::move(conn), *room, std::move(who), rooms);
        },
        chat_options);

    // For conformance clients (Autobahn-style): large messages, compression offered.
    ws::accept_options echo_options;
    echo_options.deflate.enabled = true;
    app.ws(
        "/ws/echo", [](ws::connection conn) { return echo(std::move(conn)); }, echo_options);
}

}  // namespace covet::chat
