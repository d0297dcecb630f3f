"""emulator of the Mavi provider."""
