"""sensors of the Mavi provider."""
