-- PUBLIC gets nothing: the README shows the GRANTs for an application and a worker role.
REVOKE ALL ON ALL TABLES IN SCHEMA jobkeeper FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA jobkeeper FROM PUBLIC;
-- worker_status reads shared memory through _worker_status(), which a view runs with the
-- reader's rights: any role may call it, and it answers only roles granted SELECT on the view.
GRANT EXECUTE ON FUNCTION jobkeeper._worker_status() TO PUBLIC;
