// Argument parsing and the `sign` helper for testing webhooks by hand.
#include "service/app/cli.hpp"

#include "protocol/core/crypto.hpp"
#include "protocol/core/form.hpp"
#include "protocol/events/event_catalogue.hpp"
#include "protocol/events/webhook_signature.hpp"
#include "protocol/twilio/twilio_signature.hpp"
#include "service/app/application.hpp"
#include "service/app/config.hpp"
#include "service/app/store_commands.hpp"
#include "service/ivr/menu_catalog.hpp"
#include "service/ivr/simulator.hpp"
#include "service/ops/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#ifndef SWITCHBOARD_VERSION
#define SWITCHBOARD_VERSION "unknown"
#endif

namespace switchboard {
namespace {

void usage(std::ostream& out)
{
    out << "Usage:\n"
           "  switchboard [--config FILE] [--dev]     serve the webhooks (configuration from the environment)\n"
           "  switchboard sign --url URL [--token-file FILE | --token -] [--body-file F] [NAME=VALUE ...]\n"
           "                                          print the X-Twilio-Signature for a request\n"
           "  switchboard secret                      print a new subscriber signing secret (whsec_...)\n"
           "  switchboard events schema               print the event catalogue: every event type and the\n"
           "                                          JSON Schema of its delivered document\n"
           "  switchboard menu check FILE             check an IVR menu definition; one line per problem\n"
           "  switchboard menu graph FILE             print the menu as a Graphviz DOT graph\n"
           "  switchboard simulate --url URL [--from N] [--to N] [--token-file FILE] [--input X ...]\n"
           "                                          play one inbound call against a running instance\n"
           "  switchboard store check [--config FILE]\n"
           "                                          check the configured store (read-only, beside a running\n"
           "                                          service): schema, integrity, rows, delivery states\n"
           "  switchboard store prune [--config FILE] [--as-of TIME]\n"
           "                                          apply the retention settings now, or as of an RFC 3339\n"
           "                                          TIME (SQLite: with the service stopped)\n"
           "  switchboard store restore FILE [--config FILE]\n"
           "                                          put a backup copy in place of the SQLite store (service\n"
           "                                          stopped; the replaced store is kept beside it)\n"
           "  switchboard store export [--output FILE] [--config FILE]\n"
           "                                          the SQLite store as NDJSON (events, deliveries, call and\n"
           "                                          message log, numbers, totals), beside a running service\n"
           "  switchboard store import FILE [--config FILE]\n"
           "                                          load an export into an empty Redis store (the move from\n"
           "                                          SQLite to Redis; deliveries resume where they were)\n"
           "  switchboard --version | --help\n\n"
           "  --config FILE  JSON object of settings (the names below) applied over the environment\n"
           "  --dev          without TWILIO_AUTH_TOKEN, generate a development token (printed, and\n"
           "                 written to $SWITCHBOARD_DATA_DIR/dev-auth-token)\n\n"
           "sign: NAME=VALUE pairs are the decoded form parameters of a POST (repeat a name for several\n"
           "values); --body-file signs a JSON body (the URL must carry bodySHA256, which is added when\n"
           "missing). The auth token: --token-file FILE (its first line), --token - (read from standard\n"
           "input), else $TWILIO_AUTH_TOKEN; --token T works too, but shows T to every user of the machine\n"
           "in the process list.\n\n"
           "simulate: sends the signed webhooks Twilio would (to --path, default /api/voice/incoming),\n"
           "prints what the caller hears, and answers each prompt from the --input list in order, or\n"
           "from standard input: keys (1, 12#), say:words (speech), - (silence), answered, no-answer,\n"
           "busy, failed (a Dial), record:N (an N-second voicemail), hangup. --public-url: the base URL\n"
           "signatures cover when the instance has SWITCHBOARD_PUBLIC_URL. The token: --token-file FILE\n"
           "(or --token T), else $TWILIO_AUTH_TOKEN, then a --dev instance's\n"
           "$SWITCHBOARD_DATA_DIR/dev-auth-token.\n\n"
           "Settings (environment variables):\n";
    for (const auto& s : settings()) {
        out << "  " << s.name << " (default: " << (*s.default_value != 0 ? s.default_value : "none") << ")\n      "
            << s.description << "\n";
    }
}

int sign(const std::vector<std::string>& args)
{
    std::string token;
    std::string token_file;
    std::string url;
    std::string body_file;
    form_params params;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if ((a == "--token" || a == "--token-file" || a == "--url" || a == "--body-file") && i + 1 < args.size()) {
            (a == "--token" ? token : a == "--token-file" ? token_file : a == "--url" ? url : body_file) = args[++i];
        } else if (a.find('=') != std::string::npos && a.rfind("--", 0) != 0) {
            params.add(a.substr(0, a.find('=')), a.substr(a.find('=') + 1));
        } else {
            std::cerr << "switchboard sign: unexpected argument '" << a << "'\n";
            return 2;
        }
    }
    if (!token.empty() && !token_file.empty()) {
        std::cerr << "switchboard sign: --token and --token-file exclude each other\n";
        return 2;
    }
    if (token == "-" || !token_file.empty()) {
        const std::string from = token == "-" ? std::string("-") : token_file;
        auto read = read_token(from);
        if (!read) {
            std::cerr << "switchboard sign: cannot read a token from "
                      << (from == "-" ? std::string("standard input") : "'" + from + "'") << "\n";
            return 2;
        }
        token = std::move(*read);
    }
    if (token.empty()) {
        if (const char* env = std::getenv("TWILIO_AUTH_TOKEN")) {
            token = env;
        }
    }
    if (token.empty() || url.empty()) {
        std::cerr << "switchboard sign: --url is required, and --token-file FILE, --token - (or TWILIO_AUTH_TOKEN)\n";
        return 2;
    }
    if (!body_file.empty()) {
        std::ifstream in(body_file, std::ios::binary);
        if (!in) {
            std::cerr << "switchboard sign: cannot read '" << body_file << "'\n";
            return 2;
        }
        std::ostringstream ss;
        ss << in.rdbuf();
        if (url.find("bodySHA256=") == std::string::npos) {
            url += url.find('?') == std::string::npos ? '?' : '&';
            url += "bodySHA256=" + crypto::hex_lower(crypto::sha256(ss.str()));
            std::cerr << "url: " << url << "\n";
        }
        params = form_params{};
    }
    std::cout << twilio_signature::compute(token, url, params) << "\n";
    return 0;
}

// --dev's generated token, for `sign --token-file` and `simulate`. Created 0600 from the start
// (not written under the umask, then chmod'ed), and never through a link planted in its place:
// the old file, whatever it is, is unlinked first and O_EXCL refuses anything that reappears.
bool write_dev_token(const std::string& data_dir, const std::string& token, std::string& error)
{
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    const std::string path = data_dir + "/dev-auth-token";
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        error = "cannot replace " + path + ": " + std::strerror(errno);
        return false;
    }
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        error = "cannot create " + path + ": " + std::strerror(errno);
        return false;
    }
    const std::string line = token + "\n";
    std::size_t done = 0;
    while (done < line.size()) {
        const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            error = "cannot write " + path + ": " + std::strerror(errno);
            ::close(fd);
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) {
        error = "cannot write " + path + ": " + std::strerror(errno);
        return false;
    }
    return true;
}

int menu_command(const std::vector<std::string>& args)
{
    if (args.size() != 2 || (args[0] != "check" && args[0] != "graph")) {
        std::cerr << "usage: switchboard menu check FILE | switchboard menu graph FILE\n";
        return 2;
    }
    // Checked as the service would load it: with the environment's assistant URL, if any.
    const char* assistant = std::getenv("SWITCHBOARD_ASSISTANT_URL");
    const auto r = load_menu_file(args[1], assistant == nullptr ? "" : assistant);
    if (!r.def) {
        for (const auto& p : r.problems) {
            std::cerr << args[1] << ": " << p.path << ": " << p.message << "\n";
        }
        std::cerr << args[1] << ": " << r.problems.size() << " problem(s)\n";
        return 1;
    }
    if (args[0] == "graph") {
        std::cout << ivr::to_dot(*r.def);
    } else {
        std::cout << args[1] << ": ok (" << r.def->lines.size() << " line(s), " << r.def->menus.size() << " menu(s))\n";
    }
    return 0;
}

int serve(const std::vector<std::string>& args)
{
    load_options opts;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--config" && i + 1 < args.size()) {
            opts.config_file = args[++i];
        } else if (args[i] == "--dev") {
            opts.dev = true;
        } else {
            std::cerr << "switchboard: unexpected argument '" << args[i] << "' (see --help)\n";
            return 2;
        }
    }
    opts.env_names = process_env_names();
    load_result loaded = load_config(process_env(), opts);
    if (!loaded.errors.empty()) {
        std::cerr << "switchboard: invalid configuration:\n";
        for (const auto& e : loaded.errors) {
            std::cerr << "  " << e << "\n";
        }
        return 2;
    }
    config& cfg = loaded.cfg;
    log::set_level(log::parse_level(cfg.log_level));
    // Logs go to a pipe in production: buffer them, the application flushes periodically.
    static char stdout_buffer[1 << 16];
    std::setvbuf(stdout, stdout_buffer, _IOFBF, sizeof stdout_buffer);
    for (const auto& w : loaded.warnings) {
        log::line l(log::level::warn, w.message);
        for (const auto& [key, value] : w.fields) {
            l.str(key, value);
        }
        l.emit();
    }
    if (cfg.auth_token_generated) {
        std::string error;
        if (!write_dev_token(cfg.data_dir, cfg.auth_tokens.front(), error)) {
            std::cerr << "switchboard: " << error << "\n";
            return 1;
        }
    }
    try {
        application app(std::move(cfg));
        return app.run();
    } catch (const std::exception& e) {
        log::line(log::level::error, "startup failed").str("error", e.what()).emit();
        log::flush();
        std::cerr << "switchboard: " << e.what() << "\n";
        return 1;
    }
}

} // namespace

std::optional<std::string> read_token(const std::string& file)
{
    std::string token;
    if (file == "-") {
        std::getline(std::cin, token);
        if (std::cin.bad()) {
            return std::nullopt;
        }
    } else {
        std::ifstream in(file);
        if (!in) {
            return std::nullopt;
        }
        std::getline(in, token);
    }
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t')) {
        token.pop_back();
    }
    if (token.empty()) {
        return std::nullopt;
    }
    return token;
}

int run_cli(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
        usage(std::cout);
        return 0;
    }
    if (!args.empty() && (args[0] == "--version" || args[0] == "version")) {
        std::cout << "switchboard " << SWITCHBOARD_VERSION << "\n";
        return 0;
    }
    if (!args.empty() && args[0] == "sign") {
        return sign({args.begin() + 1, args.end()});
    }
    if (!args.empty() && args[0] == "menu") {
        return menu_command({args.begin() + 1, args.end()});
    }
    if (!args.empty() && args[0] == "simulate") {
        return simulate_command({args.begin() + 1, args.end()});
    }
    if (!args.empty() && args[0] == "store") {
        return store_command({args.begin() + 1, args.end()});
    }
    if (!args.empty() && args[0] == "events") {
        if (args.size() != 2 || args[1] != "schema") {
            std::cerr << "usage: switchboard events schema\n";
            return 2;
        }
        std::cout << event_catalogue_json() << "\n";
        return 0;
    }
    if (!args.empty() && args[0] == "secret") {
        std::cout << webhook_signature::generate_secret(crypto::random_bytes(32)) << "\n";
        return 0;
    }
    return serve(args);
}

} // namespace switchboard
