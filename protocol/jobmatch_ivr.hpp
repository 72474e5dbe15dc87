// The JobMatch IVR (the shipped default line): welcome menu, 1 services, 2 AI assistant,
// 3 callback, 9 goodbye; no input or an invalid digit re-prompts twice, then says goodbye.
#pragma once

#include <string>
#include <string_view>

namespace switchboard::jobmatch {

inline constexpr std::string_view voice = "Polly.Joanna";
inline constexpr std::string_view menu_path = "/api/voice/menu";
inline constexpr int max_retries = 2;

inline constexpr std::string_view welcome_text
    = "Welcome to Job Match dot zip, the AI-powered job matching platform for LLC owners. "
      "Press 1 to learn about our services. Press 2 to speak with our AI assistant. "
      "Press 3 to schedule a callback. Press 9 to end this call.";
inline constexpr std::string_view options_text
    = "Press 1 to learn about our services. Press 2 to speak with our AI assistant. "
      "Press 3 to schedule a callback. Press 9 to end this call.";
inline constexpr std::string_view services_text
    = "Job Match helps LLC owners find perfect job matches using AI. We analyze your skills, "
      "experience, and goals to match you with opportunities. Visit jobmatch dot zip to get "
      "started. Goodbye!";
inline constexpr std::string_view assistant_text
    = "Our AI assistant is available on our website at jobmatch dot zip. You can chat with our "
      "intelligent matching system 24/7. Visit us online to get started. Goodbye!";
inline constexpr std::string_view callback_text
    = "To schedule a callback, please visit jobmatch dot zip and fill out our contact form. Our "
      "team will reach out within 24 hours. Goodbye!";
inline constexpr std::string_view goodbye_text = "Thank you for calling Job Match. Goodbye!";
inline constexpr std::string_view no_input_text = "Sorry, we didn't receive your selection.";
inline constexpr std::string_view invalid_text = "Sorry, that is not a valid option.";
inline constexpr std::string_view give_up_text
    = "We did not receive a valid selection. Thank you for calling Job Match. Goodbye!";

// What the caller chose, as a bounded metric label.
enum class choice { services, assistant, callback, goodbye, invalid, none };
std::string_view to_label(choice c) noexcept;
choice classify(std::string_view digits) noexcept;

// The `attempt` query parameter of the menu action URL: 0 when absent or unusable.
int parse_attempt(std::string_view value) noexcept;

// TwiML for the incoming call.
std::string incoming();

struct menu_outcome {
    choice chosen = choice::none;
    bool hung_up = false; // the answer ends the call
    std::string twiml;
};
menu_outcome menu(std::string_view digits, int attempt);

} // namespace switchboard::jobmatch
