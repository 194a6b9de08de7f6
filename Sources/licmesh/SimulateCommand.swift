let simulateCommand = Command(
    name: "simulate",
    summary: "Run a whole cluster in the deterministic simulator and print detection figures.",
    run: { _ in
        printError("simulate: not built yet")
        return 1
    }
)
