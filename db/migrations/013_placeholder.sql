-- 013 is the sending domains migration of a branch built alongside this
-- one; this empty stand-in keeps the numbering without gaps until the two
-- are merged, and goes away then.
SELECT 1;
