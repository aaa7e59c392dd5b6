-- create.sql: builds the test database for the SQLite driver (tests/realprogs.py runs it
-- natively and under vmemu, in memory and on a file; output must be identical).
-- 500 customers and 10000 orders inserted in one transaction, with an index.
BEGIN;
CREATE TABLE customers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  city TEXT NOT NULL
);
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  customer INTEGER NOT NULL REFERENCES customers(id),
  amount INTEGER NOT NULL,
  day TEXT NOT NULL,
  note TEXT
);
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 500)
INSERT INTO customers
SELECT x, printf('customer-%03d', x),
       CASE x % 5 WHEN 0 THEN 'Berlin' WHEN 1 THEN 'Lisbon' WHEN 2 THEN 'Oslo'
                  WHEN 3 THEN 'Paris' ELSE 'Rome' END
FROM n;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 10000)
INSERT INTO orders
SELECT x, (x * 7919) % 500 + 1, (x * 104729) % 10007,
       date('2024-01-01', printf('+%d days', (x * 31) % 366)),
       CASE WHEN x % 17 = 0 THEN NULL ELSE printf('note %05d %s', x, hex(x * x)) END
FROM n;
CREATE INDEX orders_customer ON orders(customer, amount);
COMMIT;
SELECT 'created', count(*), sum(amount), sum(note IS NULL) FROM orders;
SELECT 'customers', count(*), count(DISTINCT city) FROM customers;
