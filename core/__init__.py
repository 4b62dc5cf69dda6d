"""The ground floor: the words every layer shares (messages, records, money, clock, settings,
refs, errors). It imports nothing of the project outside `core/`."""
