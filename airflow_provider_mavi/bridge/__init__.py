"""bridge of the Mavi provider."""
