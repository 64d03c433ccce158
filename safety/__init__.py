"""What may leave the system, and how: personal data masked, user text escaped, CSV cells made inert."""
