kordon-plugin-signature 1
algorithm ed25519 blake2b-512
key-id 0123456789abcdef
file acme-reader.so
size 184320
blake2b-