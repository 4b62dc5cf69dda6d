"""The offline world around the bot: the simulator, the scenario runner, the Bot API emulator,
the REPL, the demo, the bench and the `paychat` CLI. It sits above everything it drives."""
