"""The local stack: its layout (`layout`), a process supervisor (`supervisor`), a Prometheus
for it (`prometheus`) and `bytebot up` (`cli`)."""
