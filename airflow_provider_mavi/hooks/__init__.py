"""hooks of the Mavi provider."""
