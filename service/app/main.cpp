// Entry point: parses argv and hands over to the CLI.
#include "service/app/cli.hpp"

int main(int argc, char** argv)
{
    return switchboard::run_cli(argc, argv);
}
