"""Fake external services for the tests."""
