"""triggers of the Mavi provider."""
