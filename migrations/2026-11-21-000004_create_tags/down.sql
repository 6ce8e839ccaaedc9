DROP TABLE item_tags;
DROP TABLE tags;
