"""What residents do: the menu, reporting, adding to a report, its status, the language,
subscribing to awareness messages."""
