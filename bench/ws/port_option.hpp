#pragma once
// `--port P` of the WebSocket benchmark's echo servers (0, any free port, when absent),
// wherever it stands among their other options.
#include <cstdlib>
#include <string_view>

inline unsigned short port_option(int argc, char** argv)
{
    unsigned short port = 0;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::string_view(argv[i]) == "--port") {
            port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
        }
    }
    return port;
}
