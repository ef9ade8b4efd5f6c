"""What the tests share: loopback servers, a pseudo-terminal, ways to run segchat."""
