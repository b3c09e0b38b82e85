"""What the task force does: alerts and follow-ups, acknowledgement and what comes after it,
the members' commands, the duty roster, broadcasts."""
