"""Network edges: listeners, connections (links) and their read loops. No protocol rules."""
