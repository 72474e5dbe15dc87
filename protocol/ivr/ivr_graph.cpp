// A menu definition as a Graphviz DOT digraph, for people to look at the call flow.
#include "protocol/ivr/ivr_menu.hpp"

#include <algorithm>
#include <map>
#include <vector>

namespace switchboard::ivr {
namespace {

// A DOT double-quoted string.
std::string quoted(std::string_view s)
{
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        if (c == '\n') {
            out += "\\n"; // a line break in the label
        } else if (c != '\r') {
            out += c;
        }
    }
    return out + '"';
}

std::string excerpt(const prompt& p, std::size_t max = 48)
{
    std::string text;
    for (const auto& part : p) {
        if (!text.empty()) {
            text += ' ';
        }
        text += part.type == prompt_part::kind::say ? part.text
            : part.type == prompt_part::kind::play  ? "[play]"
                                                    : "[pause]";
    }
    if (text.size() > max) {
        std::size_t cut = max;
        while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
            --cut; // never split a UTF-8 sequence
        }
        text = text.substr(0, cut) + "…";
    }
    return text;
}

// The menus an action chain leads to with `menu` actions.
void menu_targets(const action& a, std::vector<std::string>& out)
{
    for (const action* at = &a; at != nullptr; at = at->next.get()) {
        if (at->type == action_type::menu) {
            out.push_back(at->target);
        }
        if (at->unavailable) {
            menu_targets(*at->unavailable, out);
        }
    }
}

class dot_writer {
public:
    dot_writer(std::string& out, const definition& def) : out_(out)
    {
        // `back` returns to the menu the caller came from: every menu with an option (or a
        // give-up action) that leads here.
        for (const auto& [id, m] : def.menus) {
            std::vector<std::string> to;
            for (const auto& o : m.options) {
                menu_targets(o.act, to);
            }
            menu_targets(m.give_up, to);
            for (const auto& t : to) {
                auto& from = parents_[t];
                if (t != id && std::find(from.begin(), from.end(), id) == from.end()) {
                    from.push_back(id);
                }
            }
        }
    }

    // The menu whose options are being drawn (where `back` and `repeat` start from).
    void in_menu(const std::string& id) { menu_ = id; }

    // Draws `a` from node `from` with edge label `label`; terminal actions get their own node.
    void action_edge(const std::string& from, const action& a, const std::string& label)
    {
        switch (a.type) {
        case action_type::menu:
            edge(from, "menu_" + a.target, label);
            return;
        case action_type::back: {
            const auto it = parents_.find(menu_);
            if (it == parents_.end()) {
                // A start menu: nowhere to go back to, the caller hears it again.
                edge(from, "menu_" + menu_, label + " (back: hears this menu again)", "dashed");
            } else {
                for (const auto& parent : it->second) {
                    edge(from, "menu_" + parent, label + " (back)", "dashed");
                }
            }
            return;
        }
        case action_type::repeat:
            edge(from, "menu_" + menu_, label + " (repeat)", "dashed");
            return;
        default:
            break;
        }
        const std::string node = "act" + std::to_string(++counter_);
        std::string text(to_string(a.type));
        switch (a.type) {
        case action_type::dial:
            text += " " + a.target;
            break;
        case action_type::sms:
            text += ": " + a.body.substr(0, 64);
            break;
        case action_type::redirect:
            text += " " + a.target;
            break;
        case action_type::reject:
            text += " (" + a.target + ")";
            break;
        case action_type::assistant:
            text += a.stream ? " (Media Stream)" : " (ConversationRelay)";
            if (!a.target.empty()) {
                text += "\n" + a.target;
            }
            break;
        default:
            break;
        }
        if (!a.say.empty()) {
            text = "say \"" + excerpt(a.say) + "\"\n" + text;
        }
        out_ += "  " + node + " [shape=note, label=" + quoted(text) + "];\n";
        edge(from, node, label);
        if (a.next) {
            action_edge(node, *a.next,
                a.type == action_type::dial            ? "no answer"
                    : a.type == action_type::assistant ? "session ended"
                                                       : "then");
        }
        if (a.unavailable) {
            action_edge(node, *a.unavailable, "no assistant configured");
        }
    }

    void edge(const std::string& from, const std::string& to, const std::string& label, std::string_view style = {})
    {
        out_ += "  " + from + " -> " + to + " [label=" + quoted(label);
        if (!style.empty()) {
            out_ += ", style=" + std::string(style);
        }
        out_ += "];\n";
    }

private:
    std::string& out_;
    std::map<std::string, std::vector<std::string>, std::less<>> parents_;
    std::string menu_;
    int counter_ = 0;
};

} // namespace

std::string to_dot(const definition& def)
{
    std::string out = "digraph ivr {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
                      "  edge [fontname=\"Helvetica\", fontsize=9];\n";
    dot_writer w(out, def);
    for (const line& l : def.lines) {
        std::string label = "line " + l.id;
        for (const auto& n : l.numbers) {
            label += "\n" + n;
        }
        if (l.is_default) {
            label += "\n(default)";
        }
        const std::string node = "line_" + l.id;
        out += "  " + node + " [shape=ellipse, style=filled, fillcolor=\"#e8f0fe\", label=" + quoted(label) + "];\n";
        w.edge(node, "menu_" + l.start, l.hours ? "open" : "call");
        if (l.hours) {
            w.edge(node, "menu_" + l.closed_menu, "closed (" + l.hours->time_zone + ")");
        }
    }
    for (const auto& [id, m] : def.menus) {
        const std::string node = "menu_" + id;
        w.in_menu(id);
        out += "  " + node + " [shape=box, style=rounded, label=" + quoted(id + "\n\"" + excerpt(m.greeting) + "\"")
            + "];\n";
        for (const auto& o : m.options) {
            std::string label = o.digits;
            for (const auto& k : o.keywords) {
                label += (label.empty() ? "\"" : " / \"") + k + "\"";
            }
            w.action_edge(node, o.act, label);
        }
        w.action_edge(node, m.give_up, "no valid input x" + std::to_string(m.retries + 1));
    }
    out += "}\n";
    return out;
}

} // namespace switchboard::ivr
