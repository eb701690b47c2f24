"""The rules of the IM service: identity and login, registrations, presence, contacts and
message delivery. Core talks to storage only through ``columba.storage.base`` interfaces and
to devices only through the small ``DeviceLink`` protocol; it never opens sockets."""
