"""Tests of the MCP binary encoding."""
