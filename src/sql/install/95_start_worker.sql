-- Last step of the install: when the library is preloaded, wake the launcher so that this
-- database gets its worker right away instead of at the next periodic check.
SELECT jobkeeper._wake_launcher();
