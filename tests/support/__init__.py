"""What the tests share: scripted answers, the transcript chat, the clock, the database
helpers, and a resident or the task force on each channel. Fixtures are in tests/conftest.py;
no test module imports from another."""
