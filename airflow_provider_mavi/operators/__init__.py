"""operators of the Mavi provider."""
