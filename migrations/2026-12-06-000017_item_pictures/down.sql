ALTER TABLE items DROP COLUMN pictures;
DROP TABLE item_picture_sizes;
DROP TABLE item_pictures;
DROP TABLE picture_blobs;
