//! Local emulator of Microsoft login, Graph and Partner Center.
