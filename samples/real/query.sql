-- query.sql: queries the database built by create.sql (aggregates, a join, an index,
-- ORDER BY, window functions), then changes it (UPDATE, DELETE, VACUUM) and checks it.
-- Run by the SQLite driver natively and under vmemu; output must be identical.
PRAGMA integrity_check;
SELECT 'totals', count(*), sum(amount), min(amount), max(amount), round(avg(amount), 3)
FROM orders;
SELECT c.city, count(*), sum(o.amount), max(o.day)
FROM orders o JOIN customers c ON c.id = o.customer
GROUP BY c.city ORDER BY c.city;
EXPLAIN QUERY PLAN
  SELECT id, amount FROM orders WHERE customer = 42 ORDER BY amount DESC;
SELECT id, amount, day FROM orders WHERE customer = 42 ORDER BY amount DESC, id LIMIT 5;
SELECT c.name, t.total, t.n FROM
  (SELECT customer, sum(amount) AS total, count(*) AS n FROM orders GROUP BY customer) t
  JOIN customers c ON c.id = t.customer
ORDER BY t.total DESC, c.name LIMIT 5;
SELECT substr(day, 1, 7) AS month, count(*), sum(amount) FROM orders
GROUP BY month ORDER BY month LIMIT 4;
SELECT * FROM
  (SELECT id, customer, amount,
          rank() OVER (PARTITION BY customer ORDER BY amount DESC) AS r,
          sum(amount) OVER (PARTITION BY customer) AS s
   FROM orders WHERE customer IN (7, 8))
WHERE r <= 3 ORDER BY customer, r, id;
SELECT count(*), group_concat(id, ',') FROM
  (SELECT id FROM orders WHERE note LIKE 'note 0012%' ORDER BY id);
BEGIN;
UPDATE orders SET amount = amount + 1 WHERE customer % 10 = 3;
SELECT 'updated', changes();
DELETE FROM orders WHERE amount < 500;
SELECT 'deleted', changes();
COMMIT;
BEGIN;
DELETE FROM orders;
ROLLBACK;
VACUUM;
PRAGMA integrity_check;
SELECT 'after', count(*), sum(amount) FROM orders;
