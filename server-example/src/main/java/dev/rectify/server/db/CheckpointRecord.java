package dev.rectify.server.db;

import io.micronaut.data.annotation.Id;
import io.micronaut.data.annotation.MappedEntity;

/** A row of rf_checkpoints. */
@MappedEntity("rf_checkpoints")
public class CheckpointRecord {
    @Id
    private String id;

    private long seq;
    private String jobId;
    private int stepNumber;
    private long createdAt;
    private String metrics;
    private String checkpointModel;

    public String getId() {
        return id;
    }

    public void setId(String id) {
        this.id = id;
    }

    public long getSeq() {
        return seq;
    }

    public void setSeq(long seq) {
        this.seq = seq;
    }

    public String getJobId() {
        return jobId;
    }

    public void setJobId(String jobId) {
        this.jobId = jobId;
    }

    public int getStepNumber() {
        return stepNumber;
    }

    public void setStepNumber(int stepNumber) {
        this.stepNumber = stepNumber;
    }

    public long getCreatedAt() {
        return createdAt;
    }

    public void setCreatedAt(long createdAt) {
        this.createdAt = createdAt;
    }

    public String getMetrics() {
        return metrics;
    }

    public void setMetrics(String metrics) {
        this.metrics = metrics;
    }

    public String getCheckpointModel() {
        return checkpointModel;
    }

    public void setCheckpointModel(String checkpointModel) {
        this.checkpointModel = checkpointModel;
    }
}
