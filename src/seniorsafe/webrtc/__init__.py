"""WebRTC: signaling over Socket.IO, TURN credentials (coturn REST scheme), viewing audit."""
