DROP TABLE review_conflicts;
DROP TABLE reviews;
DROP TABLE review_criteria;
DROP TABLE offer_review_settings;
DROP TABLE offer_reviewers;
