-- PUBLIC gets nothing: the README shows the GRANTs for an application and a worker role.
REVOKE ALL ON ALL TABLES IN SCHEMA jobkeeper FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA jobkeeper FROM PUBLIC;
