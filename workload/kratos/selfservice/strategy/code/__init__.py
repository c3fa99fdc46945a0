"""The code method: passwordless registration and login, and one-time codes as a second factor."""
