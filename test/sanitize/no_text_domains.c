/*
 * Preloaded before the sanitizer runtimes when scripts/sanitize.sh starts the server.
 *
 * Debian's postgres links libsystemd and libldap, which pull in libgpg-error, whose
 * constructor binds its gettext domain before AddressSanitizer's runtime has started. That
 * leaves glibc's gettext lock in a broken state, and postgres then hangs in its own
 * bindtextdomain() call before it writes a line of log. These stand-ins skip domain binding:
 * messages stay untranslated, which is what the suites expect (lc_messages is C).
 */
char *textdomain(const char *domain) { return (char *) (domain ? domain : "messages"); }

char *bindtextdomain(const char *domain, const char *dir)
{
    (void) domain;
    return (char *) dir;
}

char *bind_textdomain_codeset(const char *domain, const char *codeset)
{
    (void) domain;
    return (char *) codeset;
}
